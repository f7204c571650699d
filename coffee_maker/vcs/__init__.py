"""coffee_maker.vcs"""
