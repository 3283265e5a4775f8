"""Model families. Each module registers its catalog entries; Keras is imported lazily."""
