"""Training code, one trainer per prior family; every trainer is resumable."""
