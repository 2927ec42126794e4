"""A local stand-in for the cloud services (Entra/Graph, Jamf Pro): TLS material and, later, emulators."""
