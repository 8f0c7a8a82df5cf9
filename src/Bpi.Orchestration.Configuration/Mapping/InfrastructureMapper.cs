namespace Bpi.Orchestration.Configuration;

/// <summary>
/// Maps <c>infrastructure</c> (<see cref="InfrastructureConfig"/>: resources reserved for the whole deployment, the
/// network — VPC, subnets, security groups — and security: encryption level, access control, security profile), and
/// the older top-level <c>security: { encryptionLevel }</c>, which stays accepted.
/// </summary>
internal static class InfrastructureMapper
{
    public static InfrastructureConfig Map(ConfigObject c)
    {
        var d = new InfrastructureConfig();
        EncryptionLevel? legacyEncryption = null;
        if (c.Object("security") is { } legacy)
        {
            // What the security gate judges beyond the components (check BPI-SEC-032): `security: { encryptionLevel: high }`.
            legacyEncryption = legacy.Enum<EncryptionLevel>("encryptionLevel");
            legacy.RejectUnknown();
        }

        if (c.Object("infrastructure") is not { } i)
        {
            return legacyEncryption is { } level ? d with { Security = d.Security with { EncryptionLevel = level } } : d;
        }

        var resources = i.Object("resources") is { } r ? MapResources(r) : null;
        var network = i.Object("network") is { } n ? MapNetwork(n) : null;
        var security = i.Object("security") is { } s ? MapSecurity(s) : d.Security;
        i.RejectUnknown();
        if (legacyEncryption is not null && i.Has("security"))
        {
            c.Error("security", "is also written as infrastructure.security; keep encryptionLevel in infrastructure.security only.");
        }
        else if (legacyEncryption is { } level)
        {
            security = security with { EncryptionLevel = level };
        }

        return new InfrastructureConfig { Resources = resources, Network = network, Security = security };
    }

    private static ResourceRequirements MapResources(ConfigObject c)
    {
        var resources = new ResourceRequirements
        {
            CpuCores = c.Number("cpuCores", 0) ?? 0,
            MemoryMb = c.Int("memoryMb", 0) ?? 0,
            StorageGb = c.Number("storageGb", 0) ?? 0,
            NetworkBandwidthMbps = c.Number("networkBandwidthMbps", 0) ?? 0,
        };
        c.RejectUnknown();
        return resources;
    }

    private static NetworkConfig MapNetwork(ConfigObject c)
    {
        var network = new NetworkConfig
        {
            VpcCidr = c.String("vpcCidr"),
            SubnetCidrs = c.StringList("subnetCidrs") ?? [],
            SecurityGroups = c.StringList("securityGroups") ?? [],
        };
        c.RejectUnknown();
        return network;
    }

    private static SecurityConfig MapSecurity(ConfigObject c)
    {
        var d = new SecurityConfig();
        var access = d.AccessControl;
        if (c.Object("accessControl") is { } a)
        {
            access = new AccessControlConfig
            {
                Model = a.Enum<AccessControlModel>("model") ?? access.Model,
                Roles = a.StringList("roles") ?? access.Roles,
                Attributes = a.StringMap("attributes") ?? access.Attributes,
            };
            a.RejectUnknown();
        }

        var security = new SecurityConfig
        {
            EncryptionLevel = c.Enum<EncryptionLevel>("encryptionLevel") ?? d.EncryptionLevel,
            AccessControl = access,
            SecurityProfile = c.String("securityProfile"),
        };
        c.RejectUnknown();
        return security;
    }
}
