import Foundation
import Logging
import StorageKit

/// The two kinds of work: the sprite sheet and the renditions of one asset.
///
/// A failure's `error` speaks of the file as the user named it (`project/name`) and of the step, with the cause in
/// words (``UserWording/reason(_:)``); the error with its internal paths goes to the log.
extension RenditionService {
    /// The asset as the user named it: project and original name.
    private func shown(_ asset: Asset) -> String { "\(asset.projectID)/\(asset.originalFilename)" }

    /// `sentence: cause` for the `failed` event; the whole `error`, paths included, is logged.
    private func worded(_ sentence: String, _ error: any Error, _ asset: Asset) -> String {
        context.logger.warning(
            "\(sentence)",
            metadata: ["project.id": "\(asset.projectID)", "asset.id": "\(asset.id)", "error": "\(error)"]
        )
        return "\(sentence): \(UserWording.reason(error))"
    }

    func makeSprite(_ job: Job, _ asset: Asset, shouldAbort: @escaping @Sendable () -> Bool) async -> JobOutcome {
        let store = ProcessedStore(layout: context.layout)
        let interval = DerivedWork.spriteInterval(params: job.params)
        let duration = asset.metadata?.durationSeconds
        let name = shown(asset)
        let start = ContinuousClock.now
        let path: String
        do { path = try context.layout.absolute(asset.relativePath) } catch {
            let sentence = "sprite: the sprite sheet of \(shown(asset)) could not be made"
            return .failed(step: "sprite", rendition: nil, error: worded(sentence, error, asset))
        }
        let rendered = await offload { () throws(MediaError) -> SpriteSheetImage? in
            try SpriteRenderer().render(
                path: path,
                displayName: name,
                interval: interval,
                durationHint: duration,
                shouldAbort: shouldAbort,
                formatName: asset.metadata?.formatName
            )
        }
        let image: SpriteSheetImage
        switch rendered {
        case .success(let made?): image = made
        case .success(nil): return .done
        case .failure(let error) where error.kind == .interrupted: return .interrupted
        case .failure(let error): return .failed(step: "sprite", rendition: nil, error: "sprite: \(error.detail)")
        }
        do {
            let sheet = try await context.blocking.run { try store.storeSprite(image, for: asset) }
            guard try await record(.spriteReady, of: asset, change: { $0.sprite = sheet }) else {
                // Deleted meanwhile: nothing owns the files.
                _ = try? await context.blocking.run { try store.removeFolder(for: asset) }
                return .done
            }
        } catch {
            let sentence = "sprite: the sprite sheet of \(shown(asset)) could not be stored"
            return .failed(step: "sprite", rendition: nil, error: worded(sentence, error, asset))
        }
        context.metrics.spriteDuration.record(ContinuousClock.now - start)
        context.events.catchUpSoon()
        context.logger.info(
            "sprite ready",
            metadata: ["project.id": "\(asset.projectID)", "asset.id": "\(asset.id)", "tiles": "\(image.count)"]
        )
        return .done
    }

    func makeRenditions(_ job: Job, _ asset: Asset, shouldAbort: @escaping @Sendable () -> Bool) async -> JobOutcome {
        guard let plan = DerivedWork.renditionPlan(params: job.params) else {
            let error = "rendition: the renditions of \(shown(asset)) have unreadable job parameters \(job.params)"
            return .failed(step: "rendition", rendition: nil, error: error)
        }
        let (container, ladder) = (plan.container, plan.ladder)
        let store = ProcessedStore(layout: context.layout)
        let path: String
        do { path = try context.layout.absolute(asset.relativePath) } catch {
            let sentence = "rendition: the renditions of \(shown(asset)) could not be made"
            return .failed(step: "rendition", rendition: nil, error: worded(sentence, error, asset))
        }
        let format = asset.metadata?.formatName
        let name = shown(asset)
        let planned = await offload { () throws(MediaError) in
            try RenditionEncoder.plan(
                path: path,
                displayName: name,
                ladder: ladder,
                formatName: format,
                shouldAbort: shouldAbort
            )
        }
        let steps: [RenditionGeometry.Step]
        switch planned {
        case .success(let made): steps = made
        case .failure(let error) where error.kind == .interrupted: return .interrupted
        case .failure(let error): return .failed(step: "rendition", rendition: nil, error: "rendition: \(error.detail)")
        }
        let threads = context.config.current.ffmpegThreads
        let encoder = RenditionEncoder(container: container, threads: threads)
        for step in steps {
            let relative: String
            let temporary: String
            do {
                relative = try store.renditionRelative(for: asset, name: step.name, container: container)
                // Made already (a job resumed after a restart): keep it.
                let existing = try await context.withCatalog { try $0.asset(id: asset.id) }?.renditions
                    .first { $0.relativePath == relative }
                let made = try context.layout.absolute(relative)
                if existing != nil, try await context.blocking.run({ try FileOps.lstat(made) }) != nil { continue }
                temporary = try store.temporaryPath(for: relative, owner: context.catalog.nodeID)
            } catch {
                let sentence = "rendition \(step.name) of \(name) could not be made"
                return .failed(step: "rendition", rendition: step.name, error: worded(sentence, error, asset))
            }
            let start = ContinuousClock.now
            let encoded = await offload { () throws(MediaError) in
                try encoder.encode(
                    path: path,
                    displayName: name,
                    step: step,
                    to: temporary,
                    shouldAbort: shouldAbort,
                    formatName: format
                )
            }
            switch encoded {
            case .success(let result):
                context.metrics.framesEncoded.increment(by: Int64(result.frames))
                if let outcome = await place(result, step: step, asset: asset, temporary: temporary, relative: relative)
                {
                    return outcome
                }
                context.metrics.renditionDuration.record(ContinuousClock.now - start)
            case .failure(let error):
                _ = try? await context.blocking.run { unlink(temporary) }
                if error.kind == .interrupted { return .interrupted }
                return .failed(
                    step: "rendition",
                    rendition: step.name,
                    error: "rendition \(step.name): \(error.detail)"
                )
            }
        }
        return .done
    }

    /// Renames a finished rendition into place and lists it in the record; nil when that worked.
    private func place(
        _ result: EncodedRendition,
        step: RenditionGeometry.Step,
        asset: Asset,
        temporary: String,
        relative: String
    ) async -> JobOutcome? {
        let store = ProcessedStore(layout: context.layout)
        do {
            let rendition = try await context.blocking.run {
                try store.placeRendition(result, name: step.name, temporary: temporary, at: relative)
            }
            let stored = try await record(.renditionReady, of: asset, rendition: step.name) { current in
                current.renditions.removeAll { $0.name == step.name }
                current.renditions.append(rendition)
            }
            guard stored else {
                _ = try? await context.blocking.run { try store.removeFolder(for: asset) }
                return .done
            }
        } catch {
            _ = try? await context.blocking.run { unlink(temporary) }
            let sentence = "rendition \(step.name) of \(shown(asset)) could not be stored"
            return .failed(step: "rendition", rendition: step.name, error: worded(sentence, error, asset))
        }
        context.events.catchUpSoon()
        context.logger.info(
            "rendition ready",
            metadata: [
                "project.id": "\(asset.projectID)", "asset.id": "\(asset.id)", "rendition": "\(step.name)",
                "frames": "\(result.frames)",
            ]
        )
        return nil
    }

    /// Applies `change` to the record of `asset` and appends its `type` event, in one transaction; false when
    /// the asset was deleted meanwhile.
    private func record(
        _ type: IngestEvent.EventType,
        of asset: Asset,
        rendition: String? = nil,
        change: @escaping @Sendable (inout Asset) -> Void
    ) async throws -> Bool {
        try await context.withCatalog { catalog in
            try catalog.write { tx -> Bool in
                guard var current = try tx.asset(id: asset.id) else { return false }
                change(&current)
                current.updatedAt = ISO8601Millis.now()
                try tx.update(current)
                try tx.appendEvent(
                    IngestEvent(type, about: asset, rendition: rendition)
                )
                return true
            }
        }
    }
}
