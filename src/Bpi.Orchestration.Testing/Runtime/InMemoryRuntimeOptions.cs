namespace Bpi.Orchestration.Testing;

/// <summary>Options of the <see cref="InMemoryWorkloadRuntime"/>.</summary>
public sealed class InMemoryRuntimeOptions
{
    /// <summary>How long an instance stays Starting before it runs (on the runtime's clock).</summary>
    /// <value>The default value is zero: instances run as soon as they are created.</value>
    public TimeSpan StartDelay { get; set; } = TimeSpan.Zero;

    /// <summary>How long every runtime call takes (on the runtime's clock), to simulate a slow engine.</summary>
    /// <value>The default value is zero.</value>
    public TimeSpan CallLatency { get; set; } = TimeSpan.Zero;

    /// <summary>The seed of the random numbers behind simulated requests, so tests are repeatable.</summary>
    /// <value>The default value is 42.</value>
    public int Seed { get; set; } = 42;
}
