using Microsoft.Extensions.Logging;

namespace Bpi.Orchestration.PostgreSql.CrashHost;

/// <summary>Writes log lines to stderr, prefixed with the instance, so a failing test shows what each instance did.</summary>
internal sealed class StderrLoggerProvider(string instance) : ILoggerProvider
{
    public ILogger CreateLogger(string categoryName) => new Logger(instance);

    public void Dispose()
    {
    }

    private sealed class Logger(string instance) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Information;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            => Console.Error.WriteLine($"[{instance} {logLevel}] {formatter(state, exception)}{(exception is null ? "" : " | " + exception.GetType().Name + ": " + exception.Message)}");
    }
}
