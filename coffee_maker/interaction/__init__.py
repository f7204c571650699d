"""coffee_maker.interaction"""
