"""The pages bench's server side: its settings (production settings plus one floor page) and
the locust user that drives it. Used only by benchmarks/sections/pages.py."""
