"""The staff declarations the reports read (``catalog.SystemDeclaration.field``).

A declaration whose value starts with "Not applicable" marks its point as not applicable, with
that text as the reason. Everything else Tracemark derives from the lineage and the catalog.
"""

from __future__ import annotations

DECLARATION_FIELDS: dict[str, str] = {
    # Annex IV
    "intended_purpose": "Intended purpose (Annex IV 1(a)); overrides the system record",
    "version_history": "Relation to earlier versions (Annex IV 1(c))",
    "interactions": "Interaction with other hardware, software and AI systems (Annex IV 1(d))",
    "software_versions": "Software/firmware versions and update requirements (Annex IV 1(e))",
    "placing_on_market": "Forms of placing on the market or putting into service (Annex IV 1(f))",
    "hardware": "Hardware the system runs on (Annex IV 1(g))",
    "product_photos": "Photographs or illustrations where the system is a product component (Annex IV 1(h))",
    "deployer_interface": "User interface provided to the deployer (Annex IV 1(i))",
    "instructions_for_use": "Instructions for use (Annex IV 1(j))",
    "development_methods": "Development methods and steps, third-party tools (Annex IV 2(a))",
    "design_specifications": "Design specifications, key choices, trade-offs (Annex IV 2(b))",
    "architecture": "System architecture (Annex IV 2(c))",
    "data_requirements": "Data requirements, datasheets (Annex IV 2(d))",
    "human_oversight": "Human-oversight measures, Art. 14 (Annex IV 2(e))",
    "output_interpretation": "Technical means to interpret outputs, Art. 13(3)(d) (Annex IV 2(e))",
    "predetermined_changes": "Pre-determined changes and continued compliance (Annex IV 2(f))",
    "validation_metrics": "Metrics for accuracy, robustness, discriminatory impact (Annex IV 2(g))",
    "test_report_approval": "Test logs and reports, dated and signed by the responsible persons (Annex IV 2(g))",
    "cybersecurity": "Cybersecurity measures (Annex IV 2(h))",
    "capabilities_limitations": "Capabilities and limitations, accuracy per group (Annex IV 3)",
    "foreseeable_risks": "Foreseeable unintended outcomes and risks (Annex IV 3)",
    "input_specifications": "Input data specifications (Annex IV 3)",
    "metrics_appropriateness": "Why the performance metrics are appropriate (Annex IV 4)",
    "risk_management": "Risk-management system, Art. 9 (Annex IV 5)",
    "lifecycle_changes": "Relevant changes not visible in the lineage (Annex IV 6)",
    "standards": "Harmonised standards or other specifications applied (Annex IV 7)",
    "declaration_of_conformity": "EU declaration of conformity, Art. 47 (Annex IV 8)",
    "post_market_monitoring": "Post-market monitoring system and plan, Art. 72 (Annex IV 9)",
    # Article 10
    "data_design_choices": "Relevant design choices, Art. 10(2)(a)",
    "personal_data_purpose": "Original purpose of personal data collection, Art. 10(2)(b)",
    "data_assumptions": "Assumptions about what the data measures and represents, Art. 10(2)(d)",
    "data_suitability": "Availability, quantity and suitability, Art. 10(2)(e)",
    "bias_examination": "Examination for possible biases, Art. 10(2)(f)",
    "bias_mitigation": "Measures to detect, prevent and mitigate biases, Art. 10(2)(g)",
    "data_gaps": "Data gaps or shortcomings and how they are addressed, Art. 10(2)(h)",
    "data_quality_criteria": "Relevance, representativeness, errors, completeness, Art. 10(3)",
    "deployment_setting": "Geographical, contextual, behavioural or functional setting, Art. 10(4)",
    "special_category_safeguards": "Safeguards for special-category data, Art. 10(5) / Art. 4a",
    # GPAI public summary
    "provider_contact": "Provider contact (and EU authorised representative)",
    "market_date": "Date placed on the EU market",
    "modalities": "Modalities (text, image, audio, video…) and content types",
    "training_data_size": "Training data size per modality (bins of the template)",
    "linguistic_characteristics": "Languages and other characteristics of the training data",
    "training_continues": "Whether training data collection continues",
    "crawlers": "Crawlers: names, purposes, behaviour (robots.txt, paywalls), collection period",
    "user_data": "User data used for training (from this model, from other services)",
    "tdm_opt_out": "Respect of text-and-data-mining opt-outs, Art. 4(3) Directive (EU) 2019/790",
    "illegal_content_removal": "Measures to remove illegal content",
    "training_compute": "Training compute (FLOPs) and training time, Annex XI",
}
