"""A tiny program for Baton's demo: ask Baton to make it greet by name."""

GREETING = "Héllo"  # the accent is on purpose: edits must survive non-ASCII text


def hello():
    return f"{GREETING}, world!"


if __name__ == "__main__":
    print(hello())
