using System.Globalization;

namespace Bpi.Orchestration.Strategies;

/// <summary>
/// A replica amount given as an absolute count (<c>2</c>) or as a percentage of the desired replicas (<c>25%</c>), as
/// Kubernetes' <c>IntOrString</c> for <c>maxSurge</c> and <c>maxUnavailable</c>.
/// </summary>
/// <param name="Value">The count, or the percentage (0–100) when <paramref name="IsPercent"/> is set.</param>
/// <param name="IsPercent">Whether <paramref name="Value"/> is a percentage.</param>
public readonly record struct IntOrPercent(int Value, bool IsPercent)
{
    /// <summary>An absolute count.</summary>
    /// <param name="count">The count.</param>
    /// <returns>The amount.</returns>
    public static IntOrPercent Count(int count) => new(count, false);

    /// <summary>A percentage of the desired replicas.</summary>
    /// <param name="percent">The percentage, 0–100.</param>
    /// <returns>The amount.</returns>
    public static IntOrPercent Percent(int percent) => new(percent, true);

    /// <summary>Parses <c>3</c> or <c>25%</c>.</summary>
    /// <param name="text">The text.</param>
    /// <returns>The amount.</returns>
    /// <exception cref="FormatException">The text is neither a count nor a percentage.</exception>
    public static IntOrPercent Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var t = text.Trim();
        var percent = t.EndsWith('%');
        if (percent)
        {
            t = t[..^1];
        }

        return int.TryParse(t, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value)
            ? new IntOrPercent(value, percent)
            : throw new FormatException($"'{text}' is not a replica count (for example 2) or a percentage (for example 25%).");
    }

    /// <summary>Resolves the amount against a replica count: percentages are rounded up or down as Kubernetes does (surge up, unavailable down).</summary>
    /// <param name="replicas">The desired replicas.</param>
    /// <param name="roundUp">Round a fractional result up (otherwise down).</param>
    /// <returns>The count.</returns>
    public int Resolve(int replicas, bool roundUp)
    {
        if (!IsPercent)
        {
            return Value;
        }

        var scaled = (long)Value * replicas;
        return (int)(roundUp ? (scaled + 99) / 100 : scaled / 100);
    }

    /// <inheritdoc />
    public override string ToString() => IsPercent ? Value.ToString(CultureInfo.InvariantCulture) + "%" : Value.ToString(CultureInfo.InvariantCulture);

    /// <summary>Converts a count.</summary>
    /// <param name="count">The count.</param>
    public static implicit operator IntOrPercent(int count) => Count(count);
}
