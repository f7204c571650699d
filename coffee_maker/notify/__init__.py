"""coffee_maker.notify"""
