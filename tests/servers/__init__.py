"""Independent implementations of the status API (Node.js and Python) with switchable breakages."""
