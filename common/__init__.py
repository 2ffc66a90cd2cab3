"""Small pure helpers that both sides of the wire use: the control plane, the agent, the
testbed and the tests. It imports none of them (an import-linter contract says so), so
every side may import it without an arrow running the wrong way."""
