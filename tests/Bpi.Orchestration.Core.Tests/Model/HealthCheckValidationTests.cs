using Xunit;

namespace Bpi.Orchestration.Tests.Model;

public sealed class HealthCheckValidationTests
{
    private static DeploymentSpec WithHealthCheck(HealthCheckSpec check) => new()
    {
        Name = "web",
        AppId = "shop",
        Components = [new ComponentSpec { Id = "web", Image = "web:1", Ports = [new PortSpec { ContainerPort = 8080 }], HealthCheck = check }],
    };

    [Fact]
    public void A_health_check_whose_timeout_exceeds_its_period_is_refused_naming_both()
    {
        var errors = WithHealthCheck(new HealthCheckSpec { Period = TimeSpan.FromMilliseconds(500), Timeout = TimeSpan.FromSeconds(2) }).Validate();

        var problem = Assert.Single(errors);
        Assert.StartsWith("components[0] (web).healthCheck.timeout: 00:00:02 exceeds the period 00:00:00.5000000", problem, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(1000, 1000)]
    [InlineData(10_000, 1000)]
    public void A_health_check_whose_timeout_is_at_most_its_period_is_valid(int periodMs, int timeoutMs)
    {
        var errors = WithHealthCheck(new HealthCheckSpec { Period = TimeSpan.FromMilliseconds(periodMs), Timeout = TimeSpan.FromMilliseconds(timeoutMs) }).Validate();

        Assert.Empty(errors);
    }

    [Fact]
    public void A_period_of_zero_is_reported_once_not_also_as_shorter_than_the_timeout()
    {
        var errors = WithHealthCheck(new HealthCheckSpec { Period = TimeSpan.Zero }).Validate();

        Assert.Equal(["components[0] (web).healthCheck.period: must be greater than zero."], errors);
    }
}
