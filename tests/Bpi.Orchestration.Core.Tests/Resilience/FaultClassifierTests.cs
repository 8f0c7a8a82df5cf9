using System.ComponentModel.DataAnnotations;
using System.Net;
using System.Net.Sockets;
using Bpi.Orchestration.Resilience;
using Xunit;

namespace Bpi.Orchestration.Tests.Resilience;

/// <summary>One classification for runtime, router and metric-provider failures: transient, throttled, permanent, unknown.</summary>
public sealed class FaultClassifierTests
{
    [Theory]
    [InlineData(429, FaultClass.Throttled)]
    [InlineData(503, FaultClass.Throttled)]
    [InlineData(500, FaultClass.Transient)]
    [InlineData(502, FaultClass.Transient)]
    [InlineData(504, FaultClass.Transient)]
    [InlineData(408, FaultClass.Transient)]
    [InlineData(400, FaultClass.Permanent)]
    [InlineData(404, FaultClass.Permanent)]
    [InlineData(422, FaultClass.Permanent)]
    [InlineData(200, FaultClass.Unknown)]
    public void Http_failures_are_classified_by_status_code(int status, FaultClass expected)
    {
        var failure = new HttpRequestException("failed", null, (HttpStatusCode)status);

        Assert.Equal(expected, FaultClassifier.Classify(failure));
        Assert.Equal(expected, FaultClassifier.ClassifyStatus(status));
    }

    [Fact]
    public void Network_failures_and_timeouts_are_transient()
    {
        Assert.Equal(FaultClass.Transient, FaultClassifier.Classify(new HttpRequestException("connection refused", new SocketException((int)SocketError.ConnectionRefused))));
        Assert.Equal(FaultClass.Transient, FaultClassifier.Classify(new SocketException((int)SocketError.ConnectionReset)));
        Assert.Equal(FaultClass.Transient, FaultClassifier.Classify(new IOException("broken pipe")));
        Assert.Equal(FaultClass.Transient, FaultClassifier.Classify(new TimeoutException()));
        Assert.Equal(FaultClass.Transient, FaultClassifier.Classify(new TaskCanceledException("timed out", new TimeoutException())));
        Assert.Equal(FaultClass.Transient, FaultClassifier.Classify(new Polly.Timeout.TimeoutRejectedException()));
    }

    [Fact]
    public void Validation_failures_are_permanent_and_unrecognised_ones_unknown()
    {
        Assert.Equal(FaultClass.Permanent, FaultClassifier.Classify(new ArgumentException("bad")));
        Assert.Equal(FaultClass.Permanent, FaultClassifier.Classify(new ValidationException("bad")));
        Assert.Equal(FaultClass.Unknown, FaultClassifier.Classify(new InvalidOperationException("odd")));
        Assert.Equal(FaultClass.Unknown, FaultClassifier.Classify(new OperationCanceledException()));
    }

    [Theory]
    [InlineData(OrchestrationErrorKind.RuntimeUnavailable, FaultClass.Transient)]
    [InlineData(OrchestrationErrorKind.Timeout, FaultClass.Transient)]
    [InlineData(OrchestrationErrorKind.InvalidConfiguration, FaultClass.Permanent)]
    [InlineData(OrchestrationErrorKind.NotFound, FaultClass.Permanent)]
    [InlineData(OrchestrationErrorKind.Conflict, FaultClass.Permanent)]
    [InlineData(OrchestrationErrorKind.Unauthorized, FaultClass.Permanent)]
    [InlineData(OrchestrationErrorKind.ImagePullFailed, FaultClass.Permanent)]
    [InlineData(OrchestrationErrorKind.ContainerStartupFailed, FaultClass.Permanent)]
    [InlineData(OrchestrationErrorKind.Unknown, FaultClass.Unknown)]
    [InlineData(OrchestrationErrorKind.DeploymentFailed, FaultClass.Unknown)]
    public void Orchestration_errors_are_classified_by_kind(OrchestrationErrorKind kind, FaultClass expected)
        => Assert.Equal(expected, FaultClassifier.Classify(new OrchestrationException(kind, "failed")));

    [Fact]
    public void An_http_status_among_the_causes_decides_over_the_kind()
    {
        var throttled = new OrchestrationException(OrchestrationErrorKind.RuntimeUnavailable, "busy", new HttpRequestException("busy", null, HttpStatusCode.TooManyRequests));
        var rejected = new OrchestrationException(OrchestrationErrorKind.Unknown, "no", new HttpRequestException("no", null, HttpStatusCode.Forbidden));
        var wrapped = new OrchestrationException(OrchestrationErrorKind.Unknown, "lost", new IOException("reset"));

        Assert.Equal(FaultClass.Throttled, FaultClassifier.Classify(throttled));
        Assert.Equal(FaultClass.Permanent, FaultClassifier.Classify(rejected));
        Assert.Equal(FaultClass.Transient, FaultClassifier.Classify(wrapped));
    }

    [Fact]
    public void An_open_circuit_is_unavailable_but_not_worth_retrying_at_once()
    {
        var open = new CircuitOpenException("runtime:docker", TimeSpan.FromSeconds(5), "connection refused", null);

        Assert.Equal(FaultClass.Transient, FaultClassifier.Classify(open));
        Assert.Equal(OrchestrationErrorKind.RuntimeUnavailable, open.Kind);
        Assert.False(open.IsTransient);
        Assert.False(CircuitBreakers.IsBreakerFault(open));
        Assert.Contains("runtime:docker", open.Message, StringComparison.Ordinal);
        Assert.Contains("connection refused", open.Message, StringComparison.Ordinal);
    }
}
