import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("NNZOO_OFFLINE", "1")  # nothing in the suite downloads (nnzoo._offline)
