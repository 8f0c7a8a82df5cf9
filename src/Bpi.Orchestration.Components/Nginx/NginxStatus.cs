using System.Globalization;

namespace Bpi.Orchestration.Nginx;

/// <summary>
/// What CueNginx's nginx reports about itself (its <c>stub_status</c>): counters for the whole nginx, all services
/// together, since the master started. With HTTP keep-alive one connection carries several requests.
/// </summary>
/// <param name="Generation">The generation of the config the answering worker serves (it grows by one with every change).</param>
/// <param name="MasterPid">The master's pid.</param>
/// <param name="ActiveConnections">Client connections open now, including idle keep-alive ones.</param>
/// <param name="Accepted">Client connections accepted.</param>
/// <param name="Handled">Client connections handled (less than <paramref name="Accepted"/> only when a resource limit was hit).</param>
/// <param name="Requests">Client requests.</param>
/// <param name="Reading">Connections whose request header nginx is reading.</param>
/// <param name="Writing">Connections nginx is writing a response to.</param>
/// <param name="Waiting">Idle keep-alive connections.</param>
public sealed record NginxStatus(long Generation, int MasterPid, long ActiveConnections, long Accepted, long Handled, long Requests, long Reading, long Writing, long Waiting)
{
    /// <summary>Parses stub_status's text ("Active connections: 1 / server accepts handled requests / 2 2 2 / Reading: 0 Writing: 1 Waiting: 0").</summary>
    internal static NginxStatus? Parse(string text, long generation, int masterPid)
    {
        var numbers = text.Split([' ', '\n', '\r', ':'], StringSplitOptions.RemoveEmptyEntries)
            .Select(t => long.TryParse(t, NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n : (long?)null)
            .OfType<long>()
            .ToArray();
        return numbers.Length == 7
            ? new NginxStatus(generation, masterPid, numbers[0], numbers[1], numbers[2], numbers[3], numbers[4], numbers[5], numbers[6])
            : null;
    }
}
