"""Trust: the shell parser, a request's subject, the one rule type, the engine and the shipped rules.

``shell`` parses command lines, ``subject`` says what a request touches, ``model`` is the
rule type (validated once), ``checks`` the built-in checks, ``defaults``/``routine`` the
shipped rules, ``engine`` the evaluation. Import the modules themselves: this package
file stays empty so the configuration loads without the parser.
"""
