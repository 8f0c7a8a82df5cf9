namespace Bpi.Orchestration;

/// <summary>Infrastructure settings of a deployment: reserved resources, network and security.</summary>
public sealed record InfrastructureConfig
{
    /// <summary>Resources to reserve for the whole deployment; <see langword="null"/> reserves the sum of the components' requests.</summary>
    public ResourceRequirements? Resources { get; init; }

    /// <summary>Network settings; <see langword="null"/> lets the runtime use its defaults.</summary>
    public NetworkConfig? Network { get; init; }

    /// <summary>Security settings.</summary>
    public SecurityConfig Security { get; init; } = new();
}

/// <summary>An amount of resources, as reserved by a deployment or offered as capacity.</summary>
public sealed record ResourceRequirements
{
    /// <summary>CPU cores.</summary>
    public double CpuCores { get; init; }

    /// <summary>Memory in MB.</summary>
    public long MemoryMb { get; init; }

    /// <summary>Storage in GB.</summary>
    public double StorageGb { get; init; }

    /// <summary>Network bandwidth in Mbps.</summary>
    public double NetworkBandwidthMbps { get; init; }

    /// <summary>No resources at all.</summary>
    public static ResourceRequirements None { get; } = new();

    /// <summary>Adds two amounts.</summary>
    /// <param name="left">The first amount.</param>
    /// <param name="right">The second amount.</param>
    /// <returns>The sum.</returns>
    public static ResourceRequirements operator +(ResourceRequirements left, ResourceRequirements right)
    {
        ArgumentNullException.ThrowIfNull(left);
        ArgumentNullException.ThrowIfNull(right);
        return new()
        {
            CpuCores = left.CpuCores + right.CpuCores,
            MemoryMb = left.MemoryMb + right.MemoryMb,
            StorageGb = left.StorageGb + right.StorageGb,
            NetworkBandwidthMbps = left.NetworkBandwidthMbps + right.NetworkBandwidthMbps,
        };
    }

    /// <summary>Subtracts one amount from another.</summary>
    /// <param name="left">The amount to subtract from.</param>
    /// <param name="right">The amount to subtract.</param>
    /// <returns>The difference.</returns>
    public static ResourceRequirements operator -(ResourceRequirements left, ResourceRequirements right)
    {
        ArgumentNullException.ThrowIfNull(left);
        ArgumentNullException.ThrowIfNull(right);
        return new()
        {
            CpuCores = left.CpuCores - right.CpuCores,
            MemoryMb = left.MemoryMb - right.MemoryMb,
            StorageGb = left.StorageGb - right.StorageGb,
            NetworkBandwidthMbps = left.NetworkBandwidthMbps - right.NetworkBandwidthMbps,
        };
    }

    /// <summary>Adds two amounts.</summary>
    /// <param name="other">The amount to add.</param>
    /// <returns>The sum.</returns>
    public ResourceRequirements Add(ResourceRequirements other) => this + other;

    /// <summary>Subtracts an amount.</summary>
    /// <param name="other">The amount to subtract.</param>
    /// <returns>The difference.</returns>
    public ResourceRequirements Subtract(ResourceRequirements other) => this - other;
}

/// <summary>Network settings: a VPC, its subnets and security groups.</summary>
public sealed record NetworkConfig
{
    /// <summary>The VPC's address range in CIDR notation, for example <c>10.0.0.0/16</c>.</summary>
    public string? VpcCidr { get; init; }

    /// <summary>Subnets in CIDR notation; each must lie inside <see cref="VpcCidr"/> and must not overlap another.</summary>
    public IReadOnlyList<string> SubnetCidrs { get; init; } = [];

    /// <summary>Names of security groups to attach.</summary>
    public IReadOnlyList<string> SecurityGroups { get; init; } = [];
}

/// <summary>Security settings of a deployment.</summary>
public sealed record SecurityConfig
{
    /// <summary>The encryption level.</summary>
    /// <value>The default value is <see cref="EncryptionLevel.Standard"/>.</value>
    public EncryptionLevel EncryptionLevel { get; init; } = EncryptionLevel.Standard;

    /// <summary>Who may operate on the deployment.</summary>
    public AccessControlConfig AccessControl { get; init; } = new();

    /// <summary>A named security profile (for example <c>restricted</c>); <see langword="null"/> for none.</summary>
    public string? SecurityProfile { get; init; }
}

/// <summary>An encryption level, in the vocabulary of the seed design.</summary>
public enum EncryptionLevel
{
    /// <summary>No encryption.</summary>
    None = 0,

    /// <summary>Standard encryption (TLS 1.2+, AES-128).</summary>
    Standard,

    /// <summary>High (TLS 1.3, AES-256).</summary>
    High,

    /// <summary>Maximum (High plus mutual TLS).</summary>
    Maximum,

    /// <summary>Quantum-resistant where available.</summary>
    Quantum,
}

/// <summary>Access control for a deployment.</summary>
public sealed record AccessControlConfig
{
    /// <summary>The access-control model.</summary>
    /// <value>The default value is <see cref="AccessControlModel.RoleBased"/>.</value>
    public AccessControlModel Model { get; init; } = AccessControlModel.RoleBased;

    /// <summary>The roles allowed to operate on the deployment (empty: no restriction from the spec).</summary>
    public IReadOnlyList<string> Roles { get; init; } = [];

    /// <summary>Attribute conditions (for attribute-based access control), by attribute name.</summary>
    public IReadOnlyDictionary<string, string> Attributes { get; init; } = new Dictionary<string, string>();
}

/// <summary>An access-control model.</summary>
public enum AccessControlModel
{
    /// <summary>Role-based access control.</summary>
    RoleBased = 0,

    /// <summary>Attribute-based access control.</summary>
    AttributeBased,
}
