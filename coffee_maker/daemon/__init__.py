"""coffee_maker.daemon"""
