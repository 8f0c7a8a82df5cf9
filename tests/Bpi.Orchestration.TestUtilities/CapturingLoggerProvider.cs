using Microsoft.Extensions.Logging;

namespace Bpi.Orchestration.TestUtilities;

/// <summary>Keeps every log message (category, level, event id, text) for assertions: <c>services.AddLogging(l => l.AddProvider(provider))</c>.</summary>
public sealed class CapturingLoggerProvider : ILoggerProvider
{
    private readonly List<string> _messages = [];

    /// <summary>Every message so far, as "category level eventId text".</summary>
    public IReadOnlyList<string> Messages
    {
        get
        {
            lock (_messages)
            {
                return [.. _messages];
            }
        }
    }

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void Dispose()
    {
    }

    private sealed class Logger(CapturingLoggerProvider owner, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            lock (owner._messages)
            {
                owner._messages.Add($"{category} {logLevel} {eventId.Id} {formatter(state, exception)}");
            }
        }
    }
}
