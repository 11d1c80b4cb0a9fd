namespace MqttIm.Broker.Hosting;

/// <summary>
/// The one configuration pipeline, shared by the broker and every CLI verb so they read exactly the same settings:
/// appsettings.json, appsettings.{Environment}.json, environment variables, <c>MQTTIM_</c>-prefixed environment
/// variables, then the command line (the last wins).
/// </summary>
internal static class MqttImConfiguration
{
    public const string EnvironmentPrefix = "MQTTIM_";

    /// <summary>The hosting environment as ASP.NET Core resolves it (ASPNETCORE_ before DOTNET_, else Production).</summary>
    public static string EnvironmentName() =>
        Environment.GetEnvironmentVariable("ASPNETCORE_ENVIRONMENT") is { Length: > 0 } aspnet ? aspnet
        : Environment.GetEnvironmentVariable("DOTNET_ENVIRONMENT") is { Length: > 0 } dotnet ? dotnet
        : "Production";

    /// <summary>Replaces whatever sources the builder had with the broker's pipeline.</summary>
    public static IConfigurationBuilder UseMqttImSources(this IConfigurationBuilder builder, IReadOnlyList<string> commandLine)
    {
        builder.Sources.Clear();
        return builder
            .AddJsonFile(Path.Combine(AppContext.BaseDirectory, "appsettings.json"), optional: true, reloadOnChange: false)
            .AddJsonFile(Path.Combine(AppContext.BaseDirectory, $"appsettings.{EnvironmentName()}.json"), optional: true, reloadOnChange: false)
            .AddEnvironmentVariables()
            .AddEnvironmentVariables(EnvironmentPrefix)
            .AddCommandLine([.. commandLine]);
    }

    /// <summary>The configuration a CLI verb runs with: the same as the broker's.</summary>
    public static IConfigurationRoot Build(IReadOnlyList<string> commandLine) =>
        ((IConfigurationBuilder)new ConfigurationBuilder()).UseMqttImSources(commandLine).Build();
}
