# Models of this app arrive with their issues; the app is registered so its URLs,
# migrations and imports have a home from the start.
