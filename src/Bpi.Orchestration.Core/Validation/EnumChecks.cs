namespace Bpi.Orchestration;

/// <summary>
/// Whether an enum value is one of its type's named values, as <see cref="Enum.IsDefined{TEnum}(TEnum)"/> answers, from
/// the values read once per type: validation asks several times per deployment, and the framework's answer costs a
/// lookup of the type's metadata each time (~480 instructions against ~20).
/// </summary>
internal static class EnumChecks
{
    /// <summary>Whether <paramref name="value"/> is a named value of <typeparamref name="T"/>.</summary>
    /// <typeparam name="T">The enum type.</typeparam>
    /// <param name="value">The value to check.</param>
    /// <returns><see langword="true"/> when <paramref name="value"/> equals one of the type's named values.</returns>
    public static bool IsDefined<T>(T value)
        where T : struct, Enum
    {
        var values = Named<T>.Values;
        for (var i = 0; i < values.Length; i++)
        {
            if (EqualityComparer<T>.Default.Equals(values[i], value))
            {
                return true;
            }
        }

        return false;
    }

    private static class Named<T>
        where T : struct, Enum
    {
        public static readonly T[] Values = Enum.GetValues<T>();
    }
}
