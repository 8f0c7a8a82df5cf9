using Xunit;

namespace Bpi.Orchestration.Tests.Model;

public sealed class DurationLimitTests
{
    [Fact]
    public void Validation_lists_every_duration_longer_than_a_timer_can_wait_with_its_field()
    {
        var tooLong = DeploymentSpec.MaxDuration + TimeSpan.FromMilliseconds(1);
        var spec = new DeploymentSpec
        {
            Name = "web",
            AppId = "shop",
            Components = [new ComponentSpec { Id = "web", Image = "web:1", Ports = [new PortSpec { ContainerPort = 80 }], HealthCheck = new HealthCheckSpec { Period = tooLong, Timeout = tooLong, InitialDelay = tooLong } }],
            Validation = new ValidationSettings { ProgressDeadline = tooLong, MinReadyTime = tooLong, PollInterval = tooLong },
        };

        var errors = spec.Validate();

        string[] fields = ["components[0] (web).healthCheck.initialDelay", "components[0] (web).healthCheck.period", "components[0] (web).healthCheck.timeout", "validation.progressDeadline", "validation.minReadyTime", "validation.pollInterval"];
        Assert.Equal(fields, errors.Select(e => e[..e.IndexOf(": ", StringComparison.Ordinal)]));
        Assert.All(errors, e => Assert.Contains("is longer than the longest supported wait, 24.20:31:23.6470000", e, StringComparison.Ordinal));
    }

    [Fact]
    public void A_duration_of_exactly_the_limit_is_valid()
    {
        var spec = new DeploymentSpec { Name = "web", AppId = "shop", Components = [new ComponentSpec { Id = "web", Image = "web:1" }], Validation = new ValidationSettings { ProgressDeadline = DeploymentSpec.MaxDuration } };

        Assert.Empty(spec.Validate());
    }
}
