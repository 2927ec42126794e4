"""Clients for the cloud services (Microsoft Graph/Entra/Intune, Jamf Pro).

Every HTTP request goes through :class:`cleanup.clients.http.HttpClient`, which owns TLS verification,
timeouts and the one retry policy.
"""
