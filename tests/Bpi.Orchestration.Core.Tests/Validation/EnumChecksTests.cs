using Xunit;

namespace Bpi.Orchestration.Tests.Validation;

/// <summary>The cached enum check answers exactly as <see cref="Enum.IsDefined{TEnum}(TEnum)"/> for every enum validation asks about.</summary>
public sealed class EnumChecksTests
{
    [Fact]
    public void Answers_as_the_framework_for_every_value_near_the_named_ones()
    {
        Same<DeploymentType>();
        Same<ImagePullPolicy>();
        Same<EncryptionLevel>();
        Same<AccessControlModel>();
        Same<HealthCheckKind>();
        Same<HostStopAction>();
        Same<RestartPolicyKind>();
        Same<AutoscalingSelectPolicy>();
        Same<AutoscalingPolicyType>();
    }

    private static void Same<T>()
        where T : struct, Enum
    {
        for (var i = -300; i <= 300; i++)
        {
            var value = (T)Enum.ToObject(typeof(T), i);
            Assert.True(Enum.IsDefined(value) == EnumChecks.IsDefined(value), $"{typeof(T).Name} {i}: framework {Enum.IsDefined(value)}, cached {EnumChecks.IsDefined(value)}");
        }
    }
}
