using System.Security.Cryptography;
using Bpi.Orchestration.Security.Gate;
using Bpi.Orchestration.Security.Images;
using Bpi.Orchestration.Security.Tests.Checks;

namespace Bpi.Orchestration.Security.Tests.Images;

public sealed class ImagePolicyTests
{
    [Theory]
    [InlineData("nginx", "docker.io", "library/nginx", null, null)]
    [InlineData("nginx:1.27", "docker.io", "library/nginx", "1.27", null)]
    [InlineData("docker.io/nginx", "docker.io", "library/nginx", null, null)]
    [InlineData("index.docker.io/library/nginx:1", "docker.io", "library/nginx", "1", null)]
    [InlineData("bitnami/redis:7", "docker.io", "bitnami/redis", "7", null)]
    [InlineData("ghcr.io/org/app@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", "ghcr.io", "org/app", null, TestSpecs.Digest)]
    [InlineData("localhost:5000/app:dev", "localhost:5000", "app", "dev", null)]
    [InlineData("Registry.Example.com/team/app:2", "registry.example.com", "team/app", "2", null)]
    public void References_are_normalised_as_docker_does(string text, string registry, string repository, string? tag, string? digest)
    {
        var image = ImageReference.Parse(text);
        Assert.Equal(registry, image.Registry);
        Assert.Equal(repository, image.Repository);
        Assert.Equal(tag, image.Tag);
        Assert.Equal(digest, image.Digest);
    }

    [Theory]
    [InlineData("")]
    [InlineData("UPPER/case")]
    [InlineData("app@sha256:short")]
    [InlineData("app:bad tag")]
    public void Malformed_references_are_refused(string text) => Assert.False(ImageReference.TryParse(text, out _));

    [Theory]
    [InlineData("nginx:1", "docker.io", true)]
    [InlineData("nginx:1", "docker.io/library", true)]
    [InlineData("nginx:1", "nginx", true)]
    [InlineData("nginx:1", "docker.io/nginx", true)]
    [InlineData("bitnami/redis", "docker.io/library", false)]
    [InlineData("ghcr.io/org/app", "ghcr.io", true)]
    [InlineData("ghcr.io/org/app", "ghcr.io/org", true)]
    [InlineData("ghcr.io/organisation/app", "ghcr.io/org", false)]
    [InlineData("evil.io/ghcr.io/app", "ghcr.io", false)]
    [InlineData("index.docker.io/library/nginx", "docker.io", true)]
    public void Allowlist_entries_match_after_normalisation(string image, string entry, bool allowed)
        => Assert.Equal(allowed, ImageReference.Parse(image).IsAllowedBy(entry));

    [Fact]
    public void A_signature_binding_the_images_digest_verifies()
    {
        using var verifier = new CosignSignatureVerifier([CheckFixtures.SigningKey.ExportSubjectPublicKeyInfoPem()]);
        var image = ImageReference.Parse(CheckFixtures.SignedImage);
        var result = verifier.Verify(image, [CheckFixtures.Sign(CheckFixtures.SigningKey, TestSpecs.Digest)]);
        Assert.Equal(ImageVerificationStatus.Verified, result.Status);
    }

    [Fact]
    public void A_valid_signature_for_another_digest_is_not_replayable()
    {
        using var verifier = new CosignSignatureVerifier([CheckFixtures.SigningKey.ExportSubjectPublicKeyInfoPem()]);
        var result = verifier.Verify(ImageReference.Parse(CheckFixtures.UnsignedImage), [CheckFixtures.Sign(CheckFixtures.SigningKey, TestSpecs.Digest)]);
        Assert.Equal(ImageVerificationStatus.Invalid, result.Status);
        Assert.Contains("is for " + TestSpecs.Digest, result.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void Signatures_by_untrusted_keys_tampered_payloads_and_wrong_types_fail()
    {
        using var other = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var verifier = new CosignSignatureVerifier([CheckFixtures.SigningKey.ExportSubjectPublicKeyInfoPem()]);
        var image = ImageReference.Parse(CheckFixtures.SignedImage);
        Assert.Equal(ImageVerificationStatus.Invalid, verifier.Verify(image, [CheckFixtures.Sign(other, TestSpecs.Digest)]).Status);

        var good = CheckFixtures.Sign(CheckFixtures.SigningKey, TestSpecs.Digest);
        var tampered = good.Payload.ToArray();
        tampered[^3] ^= 1;
        Assert.Equal(ImageVerificationStatus.Invalid, verifier.Verify(image, [good with { Payload = tampered }]).Status);
        Assert.Equal(ImageVerificationStatus.Invalid, verifier.Verify(image, [CheckFixtures.Sign(CheckFixtures.SigningKey, TestSpecs.Digest, type: "something else")]).Status);
        Assert.Equal(ImageVerificationStatus.Missing, verifier.Verify(image, []).Status);
        Assert.Equal(ImageVerificationStatus.NotPinned, verifier.Verify(ImageReference.Parse("registry.example.com/shop/web:1"), [good]).Status);
    }

    [Fact]
    public void Keys_that_are_not_p256_public_keys_are_refused_at_configuration()
    {
        using var rsa = RSA.Create(2048);
        using var p384 = ECDsa.Create(ECCurve.NamedCurves.nistP384);
        var error = Assert.Throws<OrchestrationException>(() => new CosignSignatureVerifier(["not a key", rsa.ExportSubjectPublicKeyInfoPem(), p384.ExportSubjectPublicKeyInfoPem()]));
        Assert.Equal(3, error.Errors.Count);
    }

    [Fact]
    public async Task An_environment_requiring_signed_images_refuses_an_unsigned_one()
    {
        using var assessor = TestSpecs.Assessor(
            o =>
            {
                o.TrustedSigningKeys.Add(CheckFixtures.SigningKey.ExportSubjectPublicKeyInfoPem());
                o.Environments["staging"] = TestSpecs.Policy(p => p.RequireSignedImages = true);
            },
            signatures: CheckFixtures.Signatures);
        var policy = assessor.Options.GetPolicy("staging");
        Assert.True(SecurityGate.Judge(await assessor.AssessAsync(TestSpecs.Hardened()), policy).Passed);
        var unsigned = TestSpecs.Hardened().WithComponent(c => c with { Image = CheckFixtures.UnsignedImage });
        var decision = SecurityGate.Judge(await assessor.AssessAsync(unsigned), policy);
        Assert.False(decision.Passed);
        Assert.Contains(decision.Reasons, r => r.Contains("requires signed images", StringComparison.Ordinal));
    }

    [Fact]
    public async Task An_allowlist_refuses_images_from_other_registries_in_the_gate()
    {
        using var assessor = TestSpecs.Assessor(o => o.Environments["staging"] = TestSpecs.Policy(p => { p.AllowedRegistries.Add("registry.example.com"); p.BlockingSeverity = SecuritySeverity.High; }));
        var spec = TestSpecs.Hardened().WithComponent(c => c with { Image = "nginx:1.27@" + TestSpecs.Digest });
        var decision = SecurityGate.Judge(await assessor.AssessAsync(spec), assessor.Options.GetPolicy("staging"));
        Assert.False(decision.Passed);
        Assert.Contains(decision.Reasons, r => r.StartsWith("BPI-SEC-027", StringComparison.Ordinal));
    }
}
