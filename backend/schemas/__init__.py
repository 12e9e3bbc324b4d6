"""Schemas: the typed request and response models (pydantic), the one definition of what the API and the forms take and give; they use the core only."""
