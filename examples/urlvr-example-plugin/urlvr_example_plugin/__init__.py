"""An example urlvr plugin: the ``palindrome`` verifier."""
