"""coffee_maker.agent"""
