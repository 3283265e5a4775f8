"""Training: the trainer, losses and metrics from the task, callbacks, optimizers, schedules."""
