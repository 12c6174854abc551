"""ONCOR DEZO adapter: ONCOR registry <-> RabbitMQ bridge."""
