using System.Net;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Http.Connections;
using MQTTnet.AspNetCore;
using MQTTnet.Server;
using MqttIm.Broker.Api;
using MqttIm.Broker.Listeners;
using MqttIm.ImExtensions.Hooks;
using Prometheus;

namespace MqttIm.Broker.Hosting;

/// <summary>Wires the host: Kestrel listeners, the MQTTnet server, the IM extensions and the HTTP API.</summary>
internal static class BrokerHostExtensions
{
    public static WebApplicationBuilder AddMqttImBroker(this WebApplicationBuilder builder)
    {
        var configuration = builder.Configuration;
        // Bound once and validated before Kestrel and MQTTnet use them; IOptions<T> hands out the same instances.
        var listen = builder.Services.AddValidated<BrokerListenOptions>(configuration, BrokerListenOptions.SectionName);
        var limits = builder.Services.AddValidated<BrokerLimitsOptions>(configuration, BrokerLimitsOptions.SectionName);

        var endpoints = new BoundEndpoints();
        builder.Services.AddSingleton(endpoints);
        // Socket completions run inline instead of hopping to the thread pool: small MQTT packets cost fewer context
        // switches. Safe here because nothing on the connection path blocks (store I/O runs on the commit loop).
        builder.WebHost.UseSockets(sockets => sockets.UnsafePreferInlineScheduling = true);
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            var address = IPAddress.Parse(listen.Address);
            kestrel.Listen(address, listen.MqttPort, options =>
            {
                endpoints.Mqtt = options;
                options.UseConnectionHandler<GuardedMqttConnectionHandler>();
            });
            var certificate = listen.MqttTlsPort >= 0 || listen.HttpsPort >= 0
                ? X509CertificateLoader.LoadPkcs12FromFile(listen.CertificatePath, listen.CertificatePassword)
                : null;
            if (listen.MqttTlsPort >= 0)
            {
                kestrel.Listen(address, listen.MqttTlsPort, options =>
                {
                    endpoints.MqttTls = options;
                    options.UseHttps(certificate!);
                    options.UseConnectionHandler<GuardedMqttConnectionHandler>();
                });
            }

            if (listen.HttpsPort >= 0)
            {
                kestrel.Listen(address, listen.HttpsPort, options =>
                {
                    endpoints.Https = options;
                    options.UseHttps(certificate!);
                });
            }

            kestrel.Listen(address, listen.HttpPort, options => endpoints.Http = options);
        });

        var mqttServerOptions = new MqttServerOptionsBuilder()
            .WithoutDefaultEndpoint()
            .WithPersistentSessions()
            .WithMaxPendingMessagesPerClient(limits.MaxPendingMessagesPerClient)
            .WithPendingMessagesOverflowStrategy(MqttPendingMessagesOverflowStrategy.DropOldestQueuedMessage)
            .Build();
        // Each connection allocates its packet write buffer up front; 4096 B (the default) was ~4 KiB of every idle connection (docs/BENCHMARKS.md). It grows on demand.
        mqttServerOptions.WriterBufferSize = 256;
        builder.Services.AddHostedMqttServer(mqttServerOptions);
        builder.Services.AddMqttConnectionHandler();
        builder.Services.AddConnections();
        builder.Services.AddSingleton<GuardedMqttConnectionHandler>();
        builder.Services.AddSingleton<PendingConnectionGate>();
        builder.Services.AddPushBridge(configuration); // before the extensions: its offline-recipient sink replaces their no-op default
        builder.Services.AddMqttImExtensions(configuration);
        builder.Services.AddProblemDetails();
        builder.Services.Configure<Microsoft.AspNetCore.Routing.RouteHandlerOptions>(o => o.ThrowOnBadRequest = true); // AdminApiGuard answers with problem details
        builder.Services.AddMqttImWebPages(configuration);
        builder.Services.AddHostedService<ReadyAnnouncer>();
        builder.Services.AddHostedService<MqttShutdownOnStopping>();
        return builder;
    }

    public static WebApplication UseMqttImBroker(this WebApplication app)
    {
        var listen = app.Services.GetRequiredService<Microsoft.Extensions.Options.IOptions<BrokerListenOptions>>().Value;
        var hooks = app.Services.GetRequiredService<MqttServerHooks>();
        app.UseMqttServer(hooks.Attach);
        app.UseAdminApiGuard();
        app.UseWebSockets();
        app.UseMqttImWebPages();
        app.MapConnectionHandler<GuardedMqttConnectionHandler>(listen.WebSocketPath, options =>
        {
            options.Transports = HttpTransportType.WebSockets;
            options.WebSockets.SubProtocolSelector = MqttSubProtocolSelector.SelectSubProtocol;
        });
        app.MapHealthEndpoints();
        app.MapAdminTokenEndpoints();
        app.MapPresenceEndpoints();
        app.MapGroupAdminEndpoints();
        app.MapNotificationEndpoints();
        app.MapEntryEndpoints();
        app.MapPushEndpoints();
        app.MapDeviceEndpoints();
        app.MapRoomEndpoints();
        app.MapSharedSubscriptionEndpoints();
        app.MapMetrics("/metrics");
        return app;
    }
}
