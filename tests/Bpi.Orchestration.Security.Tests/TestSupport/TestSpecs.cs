using Bpi.Orchestration.Security.Checks;
using Bpi.Orchestration.Security.Gate;
using Microsoft.Extensions.Options;

namespace Bpi.Orchestration.Security.Tests.TestSupport;

internal static class TestSpecs
{
    public const string Digest = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    /// <summary>A spec that passes every check that applies to it: DockLock defaults, digest pin, health check, restart policy, TLS.</summary>
    public static DeploymentSpec Hardened(string environment = "staging") => new()
    {
        Name = "shop-web",
        AppId = "shop",
        Environment = environment,
        Components = [Component()],
        Infrastructure = new InfrastructureConfig { Security = new SecurityConfig { EncryptionLevel = EncryptionLevel.High } },
    };

    public static ComponentSpec Component(string id = "web") => new()
    {
        Id = id,
        Image = "registry.example.com/shop/web:1.4.2@" + Digest,
        Ports = [new PortSpec { Name = "http", ContainerPort = 8080 }],
        HealthCheck = new HealthCheckSpec { Path = "/health" },
        Environment = new Dictionary<string, string> { ["ASPNETCORE_URLS"] = "http://+:8080" },
        RuntimeSettings = new Dictionary<string, string> { [DockLockSettings.RestartPolicy] = "on-failure:5" },
    };

    /// <summary>The seed design's example: web-service-001 with 4 cores, 8192 MB, encryption High, role-based access admin/developer.</summary>
    public static DeploymentSpec SeedExample(string environment = "production") => new()
    {
        Name = "web-service-001",
        AppId = "web-service",
        Environment = environment,
        Type = DeploymentType.DockLockContainer,
        Components =
        [
            new ComponentSpec
            {
                Id = "web",
                Image = "nginx:latest",
                Replicas = 2,
                Resources = new ComponentResources { CpuCores = 2, MemoryMb = 4096 },
                Ports = [new PortSpec { Name = "http", ContainerPort = 80 }],
            },
        ],
        Infrastructure = new InfrastructureConfig
        {
            Resources = new ResourceRequirements { CpuCores = 4, MemoryMb = 8192 },
            Security = new SecurityConfig
            {
                EncryptionLevel = EncryptionLevel.High,
                AccessControl = new AccessControlConfig { Model = AccessControlModel.RoleBased, Roles = ["admin", "developer"] },
            },
        },
    };

    public static DeploymentSpec WithComponent(this DeploymentSpec spec, Func<ComponentSpec, ComponentSpec> change)
        => spec with { Components = [.. spec.Components.Select(change)] };

    public static ComponentSpec WithSettings(this ComponentSpec component, params (string Key, string Value)[] settings)
    {
        var all = new Dictionary<string, string>(component.RuntimeSettings, StringComparer.Ordinal);
        foreach (var (key, value) in settings)
        {
            all[key] = value;
        }

        return component with { RuntimeSettings = all };
    }

    public static SecurityAssessor Assessor(Action<SecurityOptions>? configure = null, TimeProvider? time = null, Bpi.Orchestration.Security.Images.IImageSignatureSource? signatures = null)
    {
        var options = new SecurityOptions();
        configure?.Invoke(options);
        return new SecurityAssessor(Options.Create(options), time, signatures);
    }

    public static SecurityEnvironmentPolicy Policy(Action<SecurityEnvironmentPolicy> configure)
    {
        var policy = new SecurityEnvironmentPolicy();
        configure(policy);
        return policy;
    }
}
