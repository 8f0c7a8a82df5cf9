using Bpi.Orchestration.Security.Secrets;

namespace Bpi.Orchestration.Security.Tests.Secrets;

public sealed class SecretProtectorTests
{
    [Fact]
    public void A_protected_value_round_trips_and_reveals_nothing()
    {
        using var ring = SecretKeyRing.Generate();
        var protector = new SecretProtector(ring);
        var envelope = protector.Protect("s3cr3t-value", "dep/1/web/DB_PASSWORD");
        Assert.StartsWith(SecretProtector.Prefix + "k1:", envelope, StringComparison.Ordinal);
        Assert.DoesNotContain("s3cr3t", envelope, StringComparison.Ordinal);
        Assert.NotEqual(envelope, protector.Protect("s3cr3t-value", "dep/1/web/DB_PASSWORD"));
        Assert.Equal("s3cr3t-value", protector.Unprotect(envelope, "dep/1/web/DB_PASSWORD"));
    }

    [Fact]
    public void Tampering_or_moving_a_value_to_another_variable_is_detected()
    {
        using var ring = SecretKeyRing.Generate();
        var protector = new SecretProtector(ring);
        var envelope = protector.Protect("v", "dep/1/web/A");
        Assert.Throws<OrchestrationException>(() => protector.Unprotect(envelope, "dep/1/web/B"));
        var chars = envelope.ToCharArray();
        chars[^5] = chars[^5] == 'A' ? 'B' : 'A';
        Assert.Throws<OrchestrationException>(() => protector.Unprotect(new string(chars), "dep/1/web/A"));
        Assert.Throws<OrchestrationException>(() => protector.Unprotect("bpi-secret:v1:k1:nope", "dep/1/web/A"));
    }

    [Fact]
    public void Rotation_rewraps_without_decrypting_and_the_old_key_can_then_be_retired()
    {
        using var ring = SecretKeyRing.Generate("2025-01");
        var protector = new SecretProtector(ring);
        var old = protector.Protect("v", "ctx");
        ring.Rotate("2025-07");
        Assert.Equal("2025-07", ring.ActiveKeyId);
        Assert.Equal("v", protector.Unprotect(old, "ctx"));
        var rewrapped = protector.Rewrap(old);
        Assert.Equal("2025-07", SecretProtector.KeyIdOf(rewrapped));
        Assert.Equal(rewrapped, protector.Rewrap(rewrapped));
        ring.Retire("2025-01");
        Assert.Equal("v", protector.Unprotect(rewrapped, "ctx"));
        var error = Assert.Throws<OrchestrationException>(() => protector.Unprotect(old, "ctx"));
        Assert.Contains("'2025-01'", error.Message, StringComparison.Ordinal);
        Assert.Throws<OrchestrationException>(() => ring.Retire("2025-07"));
    }

    [Fact]
    public void Key_rings_refuse_bad_keys_listing_every_problem()
    {
        var error = Assert.Throws<OrchestrationException>(() => new SecretKeyRing(new Dictionary<string, byte[]> { ["a b"] = new byte[16] }, "missing"));
        Assert.Equal(3, error.Errors.Count);
        var options = new SecretProtectionOptions();
        options.Keys["k"] = "%%%";
        Assert.Contains("not base64", Assert.Single(Assert.Throws<OrchestrationException>(() => options.BuildKeyRing()).Errors), StringComparison.Ordinal);
    }
}
