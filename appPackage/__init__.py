"""The Teams app package: manifest template, icons and the command that zips them for upload."""
