"""`python -m adapter.emulator --port 8080 ...`: run the ONCOR emulator."""

from adapter.emulator.arguments import parse_options
from adapter.emulator.server import serve

if __name__ == "__main__":
    serve(parse_options())
