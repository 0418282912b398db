"""renovo: physics-informed de novo peptide sequencing."""
__version__ = "0.1.0"
