"""coffee_maker.roadmap"""
