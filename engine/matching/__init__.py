"""Plain-Chinese hazard descriptions -> candidate items, extracted observations and the questions that decide them."""
