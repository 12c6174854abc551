"""The bus contract as data: every message, its schema, its examples, and the AsyncAPI document."""
