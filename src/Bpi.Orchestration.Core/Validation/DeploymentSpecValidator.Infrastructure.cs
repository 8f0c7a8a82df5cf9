using System.Net;

namespace Bpi.Orchestration;

/// <summary>The checks of <see cref="InfrastructureConfig"/>: reserved resources, network (VPC, subnets, security groups) and security.</summary>
internal static partial class DeploymentSpecValidator
{
    private static void CheckInfrastructure(List<string> errors, InfrastructureConfig? infrastructure)
    {
        if (infrastructure is null)
        {
            errors.Add("infrastructure: is required.");
            return;
        }

        if (infrastructure.Resources is { } r)
        {
            CheckNonNegative(errors, "infrastructure.resources.cpuCores", r.CpuCores);
            CheckNonNegative(errors, "infrastructure.resources.memoryMb", r.MemoryMb);
            CheckNonNegative(errors, "infrastructure.resources.storageGb", r.StorageGb);
            CheckNonNegative(errors, "infrastructure.resources.networkBandwidthMbps", r.NetworkBandwidthMbps);
        }

        if (infrastructure.Network is { } network)
        {
            CheckNetwork(errors, network);
        }

        if (infrastructure.Security is { } security)
        {
            if (!EnumChecks.IsDefined(security.EncryptionLevel))
            {
                errors.Add($"infrastructure.security.encryptionLevel: '{security.EncryptionLevel}' is not an encryption level; use one of {string.Join(", ", Enum.GetNames<EncryptionLevel>())}.");
            }

            if (security.AccessControl is { } access)
            {
                if (!EnumChecks.IsDefined(access.Model))
                {
                    errors.Add($"infrastructure.security.accessControl.model: '{access.Model}' is not an access-control model.");
                }

                if (access.Roles.Any(string.IsNullOrWhiteSpace))
                {
                    errors.Add("infrastructure.security.accessControl.roles: role names must not be empty.");
                }

                if (access.Model == AccessControlModel.AttributeBased && access.Attributes.Count == 0)
                {
                    errors.Add("infrastructure.security.accessControl.attributes: attribute-based access control needs at least one attribute condition.");
                }
            }
        }
        else
        {
            errors.Add("infrastructure.security: is required.");
        }
    }

    private static void CheckNetwork(List<string> errors, NetworkConfig network)
    {
        IPNetwork? vpc = null;
        if (network.VpcCidr is not null)
        {
            if (TryParseCidr(network.VpcCidr, out var parsed))
            {
                vpc = parsed;
            }
            else
            {
                errors.Add($"infrastructure.network.vpcCidr: '{network.VpcCidr}' is not a CIDR block (for example 10.0.0.0/16, with the host bits zero).");
            }
        }

        var subnets = new List<(int Index, IPNetwork Net)>();
        for (var i = 0; i < network.SubnetCidrs.Count; i++)
        {
            var text = network.SubnetCidrs[i];
            if (!TryParseCidr(text, out var subnet))
            {
                errors.Add($"infrastructure.network.subnetCidrs[{i}]: '{text}' is not a CIDR block (for example 10.0.1.0/24, with the host bits zero).");
                continue;
            }

            if (vpc is { } v && !(subnet.BaseAddress.AddressFamily == v.BaseAddress.AddressFamily && subnet.PrefixLength >= v.PrefixLength && v.Contains(subnet.BaseAddress)))
            {
                errors.Add($"infrastructure.network.subnetCidrs[{i}]: '{text}' is not inside the VPC {network.VpcCidr}.");
            }

            foreach (var (otherIndex, other) in subnets)
            {
                if (Overlaps(subnet, other))
                {
                    errors.Add($"infrastructure.network.subnetCidrs[{i}]: '{text}' overlaps subnetCidrs[{otherIndex}] '{network.SubnetCidrs[otherIndex]}'.");
                }
            }

            subnets.Add((i, subnet));
        }

        if (network.SubnetCidrs.Count > 0 && network.VpcCidr is null)
        {
            errors.Add("infrastructure.network.vpcCidr: subnets are listed, so the VPC CIDR they belong to is required.");
        }

        if (network.SecurityGroups.Any(string.IsNullOrWhiteSpace))
        {
            errors.Add("infrastructure.network.securityGroups: names must not be empty.");
        }
    }

    private static bool TryParseCidr(string text, out IPNetwork network)
    {
        network = default;
        return text.Contains('/', StringComparison.Ordinal) && IPNetwork.TryParse(text, out network);
    }

    private static bool Overlaps(IPNetwork a, IPNetwork b)
        => a.BaseAddress.AddressFamily == b.BaseAddress.AddressFamily && (a.Contains(b.BaseAddress) || b.Contains(a.BaseAddress));
}
