using Microsoft.Extensions.Options;

namespace Bpi.Orchestration;

/// <summary>
/// The other half of the options recipe (see <c>AddValidatedOptions</c>): a component built without a host — with
/// <c>Options.Create(...)</c>, which runs no validator — checks its options the same way and fails the same way, with an
/// <see cref="OptionsValidationException"/> listing every problem as "<c>OptionsType.Property: problem; what to do</c>".
/// </summary>
public static class ValidatedOptions
{
    /// <summary>Runs <paramref name="validator"/> on <paramref name="value"/> and returns it, or throws listing every problem.</summary>
    /// <typeparam name="TOptions">The options type.</typeparam>
    /// <param name="value">The options to check.</param>
    /// <param name="validator">The options type's validator.</param>
    /// <returns><paramref name="value"/>, valid.</returns>
    /// <exception cref="OptionsValidationException">The options are invalid: <see cref="OptionsValidationException.Failures"/> lists every problem.</exception>
    public static TOptions Ensure<TOptions>(TOptions value, IValidateOptions<TOptions> validator)
        where TOptions : class
    {
        ArgumentNullException.ThrowIfNull(value);
        ArgumentNullException.ThrowIfNull(validator);
        var result = validator.Validate(Options.DefaultName, value);
        return result.Failed
            ? throw new OptionsValidationException(Options.DefaultName, typeof(TOptions), result.Failures ?? [result.FailureMessage])
            : value;
    }
}
