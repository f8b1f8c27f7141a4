"""The shared science layer: code used by several tasks — linear algebra (linalg), clustering metrics (clustering),
small network blocks (nets), and the feature classifier of a dataset with the Fréchet distance on its features
(classifier, frechet; the classifiers are artefacts, declared in artefacts, built once and read by every task that
measures sample quality). It imports the pipeline layer (core) and never a task (tests/test_layers.py)."""
