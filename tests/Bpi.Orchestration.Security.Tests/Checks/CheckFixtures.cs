using System.Security.Cryptography;
using System.Text;
using Bpi.Orchestration.Security.Images;

namespace Bpi.Orchestration.Security.Tests.Checks;

/// <summary>A passing and a failing case of one check: changes to a hardened container profile, and the options and encryption level they are judged under.</summary>
internal sealed record CheckFixture(
    string Id,
    Func<ContainerProfile, ContainerProfile> Pass,
    Func<ContainerProfile, ContainerProfile> Fail,
    Action<SecurityOptions>? Options = null,
    EncryptionLevel PassEncryption = EncryptionLevel.High,
    EncryptionLevel FailEncryption = EncryptionLevel.High);

internal static class CheckFixtures
{
    public static readonly ECDsa SigningKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);

    public static readonly InMemoryImageSignatureSource Signatures = CreateSignatures();

    public const string SignedImage = "registry.example.com/shop/web:1.4.2@" + TestSpecs.Digest;

    public const string UnsignedImage = "registry.example.com/shop/web:1.4.3@sha256:ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff";

    private static ContainerProfile Same(ContainerProfile p) => p;

    public static IReadOnlyList<CheckFixture> All { get; } =
    [
        new("BPI-SEC-001", p => p with { Privileged = false }, p => p with { Privileged = true }),
        new("BPI-SEC-002", p => p with { Mounts = [new ContainerMount("volume", "data", "/data", false)] }, p => p with { Mounts = [new ContainerMount("bind", "/var/run/docker.sock", "/var/run/docker.sock", false)] }),
        new("BPI-SEC-003", p => p with { AddedCapabilities = ["NET_BIND_SERVICE"] }, p => p with { AddedCapabilities = ["SYS_ADMIN"] }),
        new("BPI-SEC-004", p => p with { Mounts = [new ContainerMount("bind", "/srv/app-data", "/data", true)] }, p => p with { Mounts = [new ContainerMount("bind", "/etc", "/host-etc", true)] }),
        new("BPI-SEC-005", p => p with { NetworkMode = "bpi-net" }, p => p with { NetworkMode = "host" }),
        new("BPI-SEC-006", p => p with { PidMode = "" }, p => p with { PidMode = "host" }),
        new("BPI-SEC-007", p => p with { IpcMode = "private" }, p => p with { IpcMode = "host" }),
        new("BPI-SEC-008", p => p with { UtsMode = "" }, p => p with { UtsMode = "host" }),
        new("BPI-SEC-009", p => p with { User = "10001:10001" }, p => p with { User = "0:0" }),
        new("BPI-SEC-010", p => p with { NoNewPrivileges = true }, p => p with { NoNewPrivileges = false }),
        new("BPI-SEC-011", p => p with { DropsAllCapabilities = true }, p => p with { DropsAllCapabilities = false }),
        new("BPI-SEC-012", p => p with { AddedCapabilities = ["NET_BIND_SERVICE"] }, p => p with { AddedCapabilities = ["CHOWN"] }),
        new("BPI-SEC-013", p => p with { ReadOnlyRootFilesystem = true }, p => p with { ReadOnlyRootFilesystem = false }),
        new("BPI-SEC-014", p => p with { SeccompProfile = "default" }, p => p with { SeccompProfile = "unconfined" }),
        new("BPI-SEC-015", p => p with { AppArmorProfile = "docker-default" }, p => p with { AppArmorProfile = "unconfined" }),
        new("BPI-SEC-016", p => p with { Devices = [] }, p => p with { Devices = ["/dev/mem"] }),
        new("BPI-SEC-017", p => p with { Mounts = [new ContainerMount("bind", "/srv/x", "/x", true, "rprivate")] }, p => p with { Mounts = [new ContainerMount("bind", "/srv/x", "/x", true, "rshared")] }),
        new("BPI-SEC-018", p => p with { MemoryLimitBytes = 256L << 20 }, p => p with { MemoryLimitBytes = 0 }),
        new("BPI-SEC-019", p => p with { CpuLimitCores = 0.5 }, p => p with { CpuLimitCores = 0 }),
        new("BPI-SEC-020", p => p with { PidsLimit = 256 }, p => p with { PidsLimit = 0 }),
        new("BPI-SEC-021", p => p with { PlainEnvironmentNames = ["LOG_LEVEL", "PUBLIC_KEY_URL"] }, p => p with { PlainEnvironmentNames = ["LOG_LEVEL", "DB_PASSWORD"] }),
        new("BPI-SEC-022", p => p with { PublishedPorts = [new PublishedPort(8080, "127.0.0.1", 0)] }, p => p with { PublishedPorts = [new PublishedPort(8080, "0.0.0.0", 0)] }),
        new("BPI-SEC-023", p => p with { PublishedPorts = [new PublishedPort(80, "127.0.0.1", 8080)] }, p => p with { PublishedPorts = [new PublishedPort(80, "127.0.0.1", 80)] }),
        new("BPI-SEC-024", p => p with { ContainerPorts = [8080] }, p => p with { ContainerPorts = [8080, 22] }),
        new("BPI-SEC-025", p => p with { Image = "registry.example.com/shop/web:1.4.2" }, p => p with { Image = "registry.example.com/shop/web:latest" }),
        new("BPI-SEC-026", p => p with { Image = SignedImage }, p => p with { Image = "registry.example.com/shop/web:1.4.2" }),
        new("BPI-SEC-027", p => p with { Image = SignedImage }, p => p with { Image = "docker.io/library/nginx:1.27" },
            Options: o => o.Environments["staging"] = TestSpecs.Policy(x => x.AllowedRegistries.Add("registry.example.com"))),
        new("BPI-SEC-028", p => p with { Image = SignedImage }, p => p with { Image = UnsignedImage },
            Options: o => o.TrustedSigningKeys.Add(SigningKey.ExportSubjectPublicKeyInfoPem())),
        new("BPI-SEC-029", p => p with { HasHealthCheck = true }, p => p with { HasHealthCheck = false }),
        new("BPI-SEC-030", p => p with { RestartPolicy = "on-failure:5" }, p => p with { RestartPolicy = "no" }),
        new("BPI-SEC-031", Same, Same, PassEncryption: EncryptionLevel.Standard, FailEncryption: EncryptionLevel.None),
        new("BPI-SEC-032", Same, Same, Options: o => o.Environments["staging"] = TestSpecs.Policy(x => x.MinimumEncryptionLevel = EncryptionLevel.High),
            PassEncryption: EncryptionLevel.Maximum, FailEncryption: EncryptionLevel.Standard),
        new("BPI-SEC-033", p => p with { UsernsMode = "" }, p => p with { UsernsMode = "host" }),
    ];

    private static InMemoryImageSignatureSource CreateSignatures()
    {
        var source = new InMemoryImageSignatureSource();
        source.Add(TestSpecs.Digest, Sign(SigningKey, TestSpecs.Digest));
        return source;
    }

    public static ImageSignature Sign(ECDsa key, string digest, string type = "cosign container image signature")
    {
        var payload = Encoding.UTF8.GetBytes($$"""{"critical":{"identity":{"docker-reference":"registry.example.com/shop/web"},"image":{"docker-manifest-digest":"{{digest}}"},"type":"{{type}}"},"optional":null}""");
        return new ImageSignature(payload, key.SignData(payload, HashAlgorithmName.SHA256, DSASignatureFormat.Rfc3279DerSequence));
    }
}
