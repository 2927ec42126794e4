"""A local stand-in for the cloud services: one HTTPS server emulating Jamf Pro, Entra ID (OIDC + token
endpoint) and Microsoft Graph (devices, Intune managed devices, $batch, and the integration set-up that
`cleanup diagnose` reads: partner connection, service principals, licences, compliance policies, groups),
with injectable faults."""

from cleanup.lab.tenant.model import Faults, MacIdentity, Tenant
from cleanup.lab.tenant.scenarios import SCENARIOS, seed
from cleanup.lab.tenant.server import TenantServer, start_tenant

__all__ = ["SCENARIOS", "Faults", "MacIdentity", "Tenant", "TenantServer", "seed", "start_tenant"]
