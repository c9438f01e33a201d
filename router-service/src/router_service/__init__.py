"""model "auto": routes each request to the strong or the weak model of an auto group."""
