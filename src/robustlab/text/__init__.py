"""Text robustness: models, transformations, behavioural tests and attacks for text classifiers."""
