using System.Net.Sockets;
using Microsoft.Extensions.Options;

namespace MqttIm.Broker.Hosting;

/// <summary>Builds and runs the broker with the shared configuration pipeline; a bad setting or a taken port exits with the reason.</summary>
internal static class BrokerHost
{
    public static async Task<int> RunAsync(IReadOnlyList<string> configurationArgs)
    {
        WebApplication app;
        try
        {
            var builder = WebApplication.CreateBuilder(new WebApplicationOptions
            {
                ContentRootPath = AppContext.BaseDirectory,
                EnvironmentName = MqttImConfiguration.EnvironmentName(),
            });
            builder.Configuration.UseMqttImSources(configurationArgs);
            builder.AddMqttImBroker();
            app = builder.Build();
            app.UseMqttImBroker();
        }
        catch (OptionsValidationException ex)
        {
            Console.Error.WriteLine($"MqttIm configuration is invalid: {string.Join("; ", ex.Failures)}");
            return 2;
        }

        try
        {
            await app.RunAsync();
            return 0;
        }
        catch (OptionsValidationException ex)
        {
            Console.Error.WriteLine($"MqttIm configuration is invalid: {string.Join("; ", ex.Failures)}");
            return 2;
        }
        catch (IOException ex) when (ex.InnerException is SocketException || ex.Message.Contains("address already in use", StringComparison.OrdinalIgnoreCase))
        {
            Console.Error.WriteLine($"MqttIm cannot listen: {ex.Message}. Free the port or choose another (--Listen:MqttPort=…, --Listen:HttpPort=…).");
            return 2;
        }
    }
}
